"""The daily teacher brief: today's classes, yesterday's absentees, open actions, fee dues,
homework due soon and high-risk students, for each teacher's own batches."""
