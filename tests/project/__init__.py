"""The repository held to itself: the code's shape and layers, the text catalogues against
the code and each other, the docs' links, the deployment files against the code."""
