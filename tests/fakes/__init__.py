"""Fakes shared by the unit tests, the e2e helpers and the bench."""
