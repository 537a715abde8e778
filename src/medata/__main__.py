from medata.cli.app import main

main()
