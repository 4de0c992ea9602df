"""Retraining: the data a job trains from, the training job, the evaluation gate, the model registry."""
