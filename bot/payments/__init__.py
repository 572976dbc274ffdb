"""What both payment rails share: amounts of money in words (amounts.py) and each user's
payment links, made once and handed out again while valid (links.py). Stripe's rail
(bot/billing/) and Telegram Stars' (bot/stars/) stand on it; it knows neither."""
