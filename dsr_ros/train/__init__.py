"""Offline training: synthetic RGB-D scenes, degradations, trainers and evaluation."""
