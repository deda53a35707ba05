import OnlineCFRuntime
print("onlinecf")
