"""Learning materials: files and links that staff share with a subject, a topic or a batch."""
