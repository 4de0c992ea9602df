"""Training: the training data store (intents, examples, synonyms), its Rasa YAML export and import,
and the NLU inbox of poorly understood citizen messages."""
