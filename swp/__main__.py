from swp.startup import main

if __name__ == "__main__":
    main()
