print("prism: under construction")
