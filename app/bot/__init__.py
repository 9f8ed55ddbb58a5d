"""The Telegram bot: linking chats to people, reading updates once, commands and buttons."""
