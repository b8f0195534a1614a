"""Deliver: subscribers, the send ledger, and the transports that hand each edition to the mail system."""
