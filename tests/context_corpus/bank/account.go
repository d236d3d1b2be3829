package bank

import "errors"

// ErrInsufficient is returned when an account cannot cover a withdrawal.
var ErrInsufficient = errors.New("insufficient funds")

// Account holds a balance.
type Account struct {
	ID      string
	Balance Cents
	Frozen  bool
}

// Deposit adds money to the account.
func (a *Account) Deposit(amount Cents) {
	a.Balance += amount
}

// Withdraw takes money out, or returns ErrInsufficient.
func (a *Account) Withdraw(amount Cents) error {
	if a.Balance < amount {
		return ErrInsufficient
	}
	a.Balance -= amount
	return nil
}
