from fsync.cli import main

main()
