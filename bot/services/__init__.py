"""Domain services shared by the bot handlers, the web app and the background workers."""
