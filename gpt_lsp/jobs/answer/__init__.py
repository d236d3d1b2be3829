"""Answer hygiene: the pure pieces that turn a model's answer into the code a job writes."""
