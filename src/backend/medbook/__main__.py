from medbook.cli import main

main()
