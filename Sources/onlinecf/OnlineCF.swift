import ArgumentParser
import OnlineCFCore

struct OnlineCF: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onlinecf",
        abstract: "Online collaborative filtering: fresh i2i, u2u and a2a lists from a stream of user events, kept in Redis.",
        discussion: """
        Pipe events in and read lists back:
          onlinecf gen --events 100000 | onlinecf run
          onlinecf i2i i42 --algo itemcf:cosine

        With no --redis, onlinecf starts a private redis-server in ./.onlinecf (or $ONLINECF_HOME) \
        and stops it when the command ends; its data stays there for the next command.
        """,
        version: OnlineCFCoreVersion.string,
        subcommands: [
            Run.self, Batch.self, Rebuild.self, Check.self, Export.self, I2I.self, U2U.self, A2A.self, U2I2ICommand.self, U2ICommand.self,
            Items.self, Serve.self, Eval.self, Gen.self, Status.self, Reset.self,
        ]
    )
}
