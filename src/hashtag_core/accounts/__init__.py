"""Accounts: resolving the account a request names."""
