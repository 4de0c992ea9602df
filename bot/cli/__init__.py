"""Command line: database set-up and imports, NLU data, training, serving, chatting, conversation tests.

Run ``python -m bot.cli --help`` (the Makefile wraps the common commands). One module a job:
:mod:`~bot.cli.db`, :mod:`~bot.cli.nlu_data`, :mod:`~bot.cli.train`, :mod:`~bot.cli.serve`
(process supervision, with :mod:`~bot.cli.runtime` and :mod:`~bot.cli.processes`),
:mod:`~bot.cli.chat`, :mod:`~bot.cli.stories`. Rasa runs only in child processes
(``python -m rasa ...``): nothing here imports Rasa or ``integrations``.
"""
