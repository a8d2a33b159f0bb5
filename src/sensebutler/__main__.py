from sensebutler.cli import main

main()
