from onemap.cli import main

main()
