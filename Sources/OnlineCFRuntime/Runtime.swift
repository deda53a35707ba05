import OnlineCFCore
import OnlineCFKV
