"""The online side: publish each feature view's latest rows into an online store (push), read them back."""
