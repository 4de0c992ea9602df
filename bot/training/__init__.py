"""Training: the training data store (intents, examples, synonyms), its Rasa YAML export and import,
the NLU inbox of poorly understood citizen messages; retraining: the data a job trains from, the
training job, the evaluation gate, the model registry."""
