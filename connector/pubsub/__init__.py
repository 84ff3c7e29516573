"""Gmail push notifications: the Pub/Sub subscription that users.watch publishes to, behind a port."""
