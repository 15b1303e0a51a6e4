"""The grant outbox relay: claims grants under a lease, delivers them, settles the outcome."""
