"""One way to ask a relay: target.py builds the request, reading.py reads its answer."""
