"""Conversations: who a chat user is (identity), admission, retention."""
