"""Sign in: Google (when configured) and, in development, dev sign-in as a seeded user."""

from app.ui import signin

signin.render()
