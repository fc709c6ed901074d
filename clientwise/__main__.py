from clientwise.cli import main

main()
