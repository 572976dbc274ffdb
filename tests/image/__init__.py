"""The image test: tests/image/build.sh builds the Dockerfile, run_image.py runs it (with the
tools in helpers.py)."""
