from skillship.cli import main

main()
