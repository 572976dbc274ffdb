"""Through the real app in the test process: aiogram and the Stripe SDK over real HTTP to
the fakes, the real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""
