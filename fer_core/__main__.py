from fer_core.cli.app import main

main()
