"""What requests cost: the usage ledger, totals and the spending cap."""
