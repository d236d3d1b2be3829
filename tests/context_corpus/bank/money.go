package bank

import "fmt"

// Cents is an amount of money in cents.
type Cents int64

// FromFloat converts dollars to cents, rounding half away from zero.
func FromFloat(dollars float64) Cents {
	if dollars < 0 {
		return Cents(dollars*100 - 0.5)
	}
	return Cents(dollars*100 + 0.5)
}

// String formats cents as dollars.
func (c Cents) String() string {
	return fmt.Sprintf("$%d.%02d", c/100, c%100)
}
