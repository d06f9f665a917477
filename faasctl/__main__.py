from faasctl.cli.main import main

main()
