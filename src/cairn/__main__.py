from cairn.cli import main

main.run()
