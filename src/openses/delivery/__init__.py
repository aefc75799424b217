"""Delivery: leasing queue entries and handing each to the delivery mode (capture, mx, relay)."""
