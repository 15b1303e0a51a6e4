"""Players' wallets: balances, the ledger of grants, and the inventory."""
