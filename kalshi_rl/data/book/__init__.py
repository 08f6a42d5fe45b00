"""The book: exact bid ladders, the one shared book per market, and its lifecycle status."""
