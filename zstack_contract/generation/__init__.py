"""Spec -> request cases: what to send and what each case expects."""
