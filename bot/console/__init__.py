"""Application services behind the admin console: the draft configuration, editing, insights."""
