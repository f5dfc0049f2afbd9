"""What a logged-in account manages: its password, its sub-accounts, its history."""
