print("eventbus-pressure")
