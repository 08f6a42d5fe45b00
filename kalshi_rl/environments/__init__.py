"""The historical Gymnasium environment and the shared observation builder."""
