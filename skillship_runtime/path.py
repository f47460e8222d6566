"""`python -m skillship_runtime.path`: print the folder to pass as the skillship-runtime build context."""

from pathlib import Path

if __name__ == "__main__":
    print(Path(__file__).resolve().parent)
