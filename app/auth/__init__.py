"""Login, logout, forgotten password and reset links of every space."""
