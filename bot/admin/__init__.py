"""What the provider's admins do to the business as a whole: grants and take-backs, the
broadcasts to subscribers and the numbers behind /stats. The top of the domain: it reads
every rail's plans and amounts, and nothing below it imports it."""
