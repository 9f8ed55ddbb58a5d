"""Onboarding: confirm your name and phone and accept the data-use consent before anything else."""

from app.ui import onboarding

onboarding.render()
