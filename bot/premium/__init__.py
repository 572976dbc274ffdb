"""Premium chats: the provider's private channels and groups follow the subscription. Join
through personal join-request links the bot approves only for users with access; the
membership record from chat_member updates; removal (ban, then unban so they can come back)
when access ends; and an audit. rules.py decides, service.py does."""
